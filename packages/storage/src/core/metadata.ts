/** The default content type of objects written without one. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Lower-cases metadata names, as S3 does, so every adapter returns the same. */
export function normalizeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const normalized: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) normalized[name.toLowerCase()] = value;
  return normalized;
}
