import type { Subscriber, Title } from './schemas.ts';

/** Demo profiles; each has a signed JWT in the demo (see src/edge). */
export const seedSubscribers: Subscriber[] = [
  { profileId: 'p-ada', name: 'Ada', plan: 'premium', country: 'NL', streamLimit: 4, maturity: 18 },
  { profileId: 'p-bo', name: 'Bo', plan: 'standard', country: 'US', streamLimit: 2, maturity: 16 },
  { profileId: 'p-kim', name: 'Kim', plan: 'basic', country: 'DE', streamLimit: 1, maturity: 12 },
];

/** How many load profiles there are (`p-load-01` … `p-load-64`). */
export const LOAD_PROFILE_COUNT = 64;

/**
 * Profiles the load generator plays as: premium (4 streams), half in NL and
 * half in the US, so every connection of `npm run load` plays as its own
 * profile and device, as real viewers do, instead of 32 connections fighting
 * over one profile's stream slots.
 */
export const loadProfiles: Subscriber[] = Array.from({ length: LOAD_PROFILE_COUNT }, (_, i) => {
  const n = String(i + 1).padStart(2, '0');
  return {
    profileId: `p-load-${n}`,
    name: `Load ${n}`,
    plan: 'premium',
    country: i % 2 === 0 ? 'NL' : 'US',
    streamLimit: 4,
    maturity: 16,
  };
});

/** Every profile the platform knows: the demo profiles and the load profiles. */
export const allProfiles: Subscriber[] = [...seedSubscribers, ...loadProfiles];

const always = { from: '2020-01-01', to: '2099-12-31' };

/** Demo titles with rights windows. */
export const seedTitles: Title[] = [
  {
    id: '80100172',
    name: 'Stranger Things',
    maturity: 16,
    runtimeMs: 3_060_000,
    audio: ['en', 'de', 'nl'],
    subtitles: ['en', 'de', 'nl'],
    maxResolution: '2160p',
    rights: { US: always, NL: always, DE: always, BR: always },
  },
  {
    id: '80057281',
    name: 'The Crown',
    maturity: 16,
    runtimeMs: 3_480_000,
    audio: ['en'],
    subtitles: ['en', 'nl'],
    maxResolution: '2160p',
    rights: { US: always, GB: always, NL: always },
  },
  {
    id: '70264888',
    name: 'Our Planet',
    maturity: 0,
    runtimeMs: 2_880_000,
    audio: ['en', 'de', 'ja'],
    subtitles: ['en', 'de', 'nl', 'ja'],
    maxResolution: '2160p',
    rights: { US: always, NL: always, DE: always, BR: always, JP: always },
  },
  {
    id: '81040344',
    name: 'Squid Game',
    maturity: 18,
    runtimeMs: 3_300_000,
    audio: ['ko', 'en'],
    subtitles: ['en', 'de', 'nl', 'ko'],
    maxResolution: '1080p',
    rights: { US: always, NL: always, DE: always },
  },
  {
    id: '70143836',
    name: 'Breaking Bad',
    maturity: 18,
    runtimeMs: 2_820_000,
    audio: ['en'],
    subtitles: ['en', 'de'],
    maxResolution: '1080p',
    rights: { US: { from: '2020-01-01', to: '2021-01-01' }, DE: always },
  },
];

/** The simulated edge caches that `steering` picks from. */
export const seedCaches = [
  { id: 'edge-ams-1', region: 'EU', baseUrl: 'https://edge-ams-1.cdn.backlot.test' },
  { id: 'edge-fra-1', region: 'EU', baseUrl: 'https://edge-fra-1.cdn.backlot.test' },
  { id: 'edge-iad-1', region: 'US', baseUrl: 'https://edge-iad-1.cdn.backlot.test' },
  { id: 'edge-sfo-1', region: 'US', baseUrl: 'https://edge-sfo-1.cdn.backlot.test' },
];
