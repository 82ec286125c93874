// CNI spec versions the plugin speaks, and the comparisons the verbs need (CHECK needs 0.4.0, STATUS and GC need
// 1.1.0). Results are rendered in the configuration's version (result.ts); 0.1.0 and 0.2.0 (the pre-0.3 result
// shape) are not offered.

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type SupportedVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: SupportedVersion = '1.1.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

export function isSupportedVersion(v: string): v is SupportedVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Negative, zero or positive like a comparator; both must be `major.minor.patch`. */
export function compareVersions(a: string, b: string): number {
  const ma = SEMVER.exec(a);
  const mb = SEMVER.exec(b);
  if (ma === null || mb === null) throw new Error(`not a CNI version: ${ma === null ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}
