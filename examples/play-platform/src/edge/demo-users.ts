import { SignJWT } from 'jose';
import { seedSubscribers } from '../data/seed.ts';

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

/** A signed token for one of the demo profiles (subject = profile id). */
export async function tokenFor(profileId: string): Promise<string> {
  if (!seedSubscribers.some((s) => s.profileId === profileId)) {
    throw new Error(`no demo profile '${profileId}' (known: ${seedSubscribers.map((s) => s.profileId).join(', ')})`);
  }
  return new SignJWT({ name: profileId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(profileId)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(JWT_SECRET);
}
