// Metadata that sits beside the schemas, never inside the types (STYLE.md §5 "Metadata sits beside the schema").
//
// Two levels:
// - Field level: `.meta({...})` on a zod field (zod's own registry, keyed by schema instance). `description` feeds
//   `kubectl explain`; `x-kubernetes-*` keys go to the CRD as they are; `x-tabby-*` keys are ours and are stripped
//   by the CRD generator. Helpers below build these objects so every kind spells them the same way.
// - Kind level: `defineKind({...})` returns a `KindDefinition` — group, version, names, short names, categories,
//   printer columns, status subresource, CEL rules on the spec — held next to the kind's schema in its module and
//   listed once in `kinds.ts`. Validation (`validate.ts`) and CRD generation (`crd-gen.ts`) both read that list.
import type { z } from 'zod';

export const CALICO_GROUP = 'projectcalico.org';
export const CALICO_VERSION = 'v3';
export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const TABBY_GROUP = 'dataplane.tabby.dev';
export const TABBY_VERSION = 'v1alpha1';
export const TABBY_API_VERSION = 'dataplane.tabby.dev/v1alpha1';
/** `kubectl get calico` and `kubectl get tabby` list every kind of ours. */
export const CATEGORIES = ['calico', 'tabby'] as const;

/** One CEL rule as written into `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  /** Shown by the apiserver when the rule fails; always names the field. */
  message: string;
  /** JSONPath (relative to the schema the rule sits on) the error is reported at. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** Transition rules (`oldSelf`) run on create too when set; we only ever use it for immutability checks. */
  optionalOldSelf?: boolean;
}

export function cel(rule: string, message: string, extra: Omit<CelRule, 'rule' | 'message'> = {}): CelRule {
  return { rule, message, ...extra };
}

/** Field metadata keys we use. `x-tabby-*` never reaches a CRD. */
export interface FieldMeta {
  description?: string;
  /** OpenAPI format, e.g. date-time. */
  format?: string;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  /**
   * The field is a real Calico field that Tabby accepts and keeps but does not act on; `unsupportedFields()` reports
   * it when set, so the operator can say so in a condition. The string says what is missing, for that message.
   */
  'x-tabby-unsupported'?: string;
  /** Replaces the generated CRD schema of this field (for shapes OpenAPI spells differently, e.g. int-or-string). */
  'x-tabby-crd-schema'?: Record<string, unknown>;
  /**
   * Pattern for the CRD when the zod regex has flags JSON Schema cannot carry (Kubernetes uses Go RE2, which
   * spells case-insensitivity `(?i)`; JavaScript cannot parse that).
   */
  'x-tabby-crd-pattern'?: string;
  /** Value the CRD should default on the server (defaults Calico's own v3 CRDs carry). Zod defaults are client-side. */
  'x-tabby-crd-default'?: unknown;
  /**
   * Calico's rule for this field in words, saying where Calico enforces it (its CRD's schema or CEL, its Go
   * validator `libcalico-go/lib/validator/v3`); `none` when Calico checks nothing beyond the type. Read by the
   * validation table (docs/validation.md), never by validation.
   */
  'x-tabby-calico'?: string;
  /**
   * What of this field's rule only our full validation checks — the admission webhook at the apiserver, and every
   * parse — because the CRD cannot say it (selector syntax, Go regular expressions, references within the object).
   */
  'x-tabby-webhook'?: string;
  /** A rule that needs other objects: the operator reports it in a condition (and an Event). */
  'x-tabby-condition'?: string;
  /** Where and why Tabby's rule differs from Calico's, when it does on purpose. */
  'x-tabby-differs'?: string;
}

/** The parts of a field's rule the validation table shows, attached beside the schema like every other metadata. */
export interface RuleMeta {
  /** Calico's rule (see FieldMeta 'x-tabby-calico'). */
  calico: string;
  webhook?: string;
  condition?: string;
  differs?: string;
}

/** Attaches Calico's rule (and where Tabby enforces what the CRD cannot) to a field, keeping its other metadata. */
export function rule<T extends z.ZodType>(schema: T, r: RuleMeta): T {
  const meta: FieldMeta = { 'x-tabby-calico': r.calico };
  if (r.webhook !== undefined) meta['x-tabby-webhook'] = r.webhook;
  if (r.condition !== undefined) meta['x-tabby-condition'] = r.condition;
  if (r.differs !== undefined) meta['x-tabby-differs'] = r.differs;
  return schema.meta(meta as Record<string, unknown>) as T;
}

/** Attach field metadata (description, CEL rules, list semantics) to a schema, returning the annotated schema. */
export function field<T extends z.ZodType>(
  schema: T,
  description: string,
  extra: Omit<FieldMeta, 'description'> = {},
): T {
  return schema.meta({ description, ...extra }) as T;
}

/**
 * A field whose default the CRD applies on the server too (so `kubectl get` shows it), not only our parse. Used for
 * Calico's own CRD defaults and for the enum/boolean fields our printer columns show.
 */
export function crdDefault<T extends z.ZodType>(schema: T, value: unknown, description: string): T {
  return schema.meta({ description, 'x-tabby-crd-default': value }) as T;
}

/** Marks a Calico field Tabby keeps but does not implement (see `unsupportedFields`). */
export function unsupported<T extends z.ZodType>(schema: T, description: string, why = 'not implemented by Tabby'): T {
  return schema.meta({ description, 'x-tabby-unsupported': why }) as T;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = shown by `kubectl get`; 1 = only with `-o wide`. */
  priority?: 0 | 1;
  format?: string;
}

export interface KindDefinition<S extends z.ZodType = z.ZodType> {
  group: string;
  version: string;
  kind: string;
  /** Other spellings accepted on input (e.g. Calico's v1 `IPAMConfig` for `IPAMConfiguration`). */
  aliases: readonly string[];
  plural: string;
  singular: string;
  listKind: string;
  shortNames: readonly string[];
  categories: readonly string[];
  /** Top-of-`kubectl explain` text. */
  description: string;
  /** The whole object (apiVersion, kind, metadata, spec, status). */
  schema: S;
  hasStatus: boolean;
  /** Whether the `spec` is required; Calico's config kinds accept an object with no spec. */
  specRequired: boolean;
  printerColumns: readonly PrinterColumn[];
  /**
   * Constraint on the object's name (e.g. IPAMConfiguration must be `default`), twice like every rule: `nameRules`
   * as CEL on the root for the CRD, `checkName` for our parse (returns what is wrong, or undefined).
   */
  nameRules?: readonly CelRule[];
  checkName?: (name: string) => string | undefined;
  /** Calico spec fields Tabby neither types nor implements, for `unsupportedFields()` (e.g. most of Felix). */
  otherKnownFields?: ReadonlySet<string>;
}

export type KindInput<S extends z.ZodType> = Omit<
  KindDefinition<S>,
  'listKind' | 'singular' | 'categories' | 'aliases' | 'shortNames' | 'hasStatus' | 'specRequired'
> &
  Partial<Pick<KindDefinition<S>, 'singular' | 'aliases' | 'shortNames' | 'hasStatus' | 'specRequired'>>;

export function defineKind<S extends z.ZodType>(input: KindInput<S>): KindDefinition<S> {
  return {
    aliases: [],
    shortNames: [],
    hasStatus: false,
    specRequired: true,
    ...input,
    singular: input.singular ?? input.kind.toLowerCase(),
    listKind: `${input.kind}List`,
    categories: CATEGORIES,
  };
}

export function apiVersionOf(def: Pick<KindDefinition, 'group' | 'version'>): string {
  return `${def.group}/${def.version}`;
}
