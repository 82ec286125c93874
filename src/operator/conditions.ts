// Conditions that change only when their content does: a condition keeps its lastTransitionTime while its status
// stays the same, so re-asserting an unchanged condition writes nothing (no status churn on restart).
import type { Condition } from '../api/common.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
}

export function setCondition(
  existing: readonly Condition[] | undefined,
  next: ConditionInput,
  nowIso: string,
): Condition {
  const prev = existing?.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : nowIso;
  return {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime,
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
}
