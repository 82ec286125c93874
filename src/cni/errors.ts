// CNI errors as the spec defines them (containernetworking/cni SPEC.md, "Error"): a numeric code, a short `msg` and
// a longer `details`, printed as JSON on stdout with a non-zero exit. Codes 1–99 are the spec's; 100+ are ours.
// Every error the plugin returns is a CniError, so the runtime (and `kubectl describe pod`) always sees a code that
// says whether retrying can help (11) and a message that names the field, variable or resource at fault.

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot service ADD requests. */
  NotAvailable: 50,
  NotAvailableLimitedConnectivity: 51,
  /** No address left in the pools this pod may use (Calico: "No IPs available in pools"). */
  AddressesExhausted: 100,
  /** The agent refused the IPAM request as asked (unknown pool, address taken or outside every pool, ...). */
  IpamRequestRefused: 101,
  /** iproute2 or a sysctl failed while plumbing or unplumbing the pod. */
  DataplaneFailure: 102,
  /** CHECK found the pod's networking not as ADD left it. */
  CheckFailed: 103,
  Internal: 999,
} as const;

export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export class CniError extends Error {
  constructor(
    readonly code: CniCodeValue,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details === '' ? msg : `${msg}: ${details}`);
    this.name = 'CniError';
  }
}

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The spec's error object; `details` is omitted when empty (as libcni's types.Error does). */
export function errorJson(e: CniError, cniVersion: string): CniErrorJson {
  return e.details === ''
    ? { cniVersion, code: e.code, msg: e.msg }
    : { cniVersion, code: e.code, msg: e.msg, details: e.details };
}

/** Wraps anything thrown into a CniError; unexpected exceptions become 999 with their message. */
export function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CniError(CniCode.Internal, 'internal error in the tabby CNI plugin', message);
}
