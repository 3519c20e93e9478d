import { SignJWT } from 'jose';
import { allProfiles, LOAD_PROFILE_COUNT, seedSubscribers } from '../data/seed.ts';

/**
 * The demo's JWT signing secret (HS256). Set `PLAY_JWT_SECRET` to your own;
 * the default exists so that the example runs with nothing configured, and
 * must never be used outside a laptop.
 */
export const JWT_SECRET = new TextEncoder().encode(
  process.env.PLAY_JWT_SECRET ?? 'backlot-demo-secret-change-me-0123456789',
);
export const JWT_ISSUER = 'backlot-play-demo';
export const JWT_AUDIENCE = 'play-api';

/** Raised for a profile id the demo does not know: its message lists the known ones. */
export class UnknownProfileError extends Error {
  readonly code = 'unknown_profile';
  constructor(profileId: string) {
    super(
      `no demo profile '${profileId}' (known: ${seedSubscribers.map((s) => s.profileId).join(', ')}, p-load-01 … p-load-${LOAD_PROFILE_COUNT})`,
    );
    this.name = 'UnknownProfileError';
  }
}

/** A signed token for one of the demo or load profiles (subject = profile id). */
export async function tokenFor(profileId: string): Promise<string> {
  if (!allProfiles.some((s) => s.profileId === profileId)) throw new UnknownProfileError(profileId);
  return new SignJWT({ name: profileId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(profileId)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(JWT_SECRET);
}
