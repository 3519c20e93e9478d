/** Seed titles for the embedded catalogue store. */
export const seedTitles = [
  { id: '80100172', name: 'Stranger Things', maturity: 'TV-14', countries: ['US', 'NL', 'DE', 'BR'] },
  { id: '80057281', name: 'The Crown', maturity: 'TV-MA', countries: ['US', 'GB', 'NL'] },
  { id: '70264888', name: 'Our Planet', maturity: 'TV-PG', countries: ['US', 'NL', 'DE', 'BR', 'JP'] },
] as const;

/** A title as the catalogue stores it. */
export interface Title {
  id: string;
  name: string;
  maturity: string;
  countries: readonly string[];
}
