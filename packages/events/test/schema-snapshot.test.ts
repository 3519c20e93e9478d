import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkCompatibility, exportSchemaSnapshot, formatSchemaSnapshot, parseSchemaSnapshot } from '../src/index.js';
import { events } from './fixtures/versioned-catalog.js';

const file = new URL('./fixtures/versioned-catalog.schema.json', import.meta.url);
const UPDATE = 'run `npm run schemas:update -w @backlot/events` to update the committed snapshot, and review its diff';

describe('the committed JSON Schema snapshot', () => {
  it('matches the export of the test catalogue', () => {
    const committed = readFileSync(file, 'utf8');
    const exported = formatSchemaSnapshot(exportSchemaSnapshot(events));
    if (exported !== committed) {
      expect.fail(`test/fixtures/versioned-catalog.schema.json is out of date with the catalogue: ${UPDATE}`);
    }
    expect(Object.keys(parseSchemaSnapshot(committed).events)).toEqual(['search.performed', 'title.rated']);
  });

  it('the catalogue stays backward compatible with it', () => {
    const report = checkCompatibility(events, parseSchemaSnapshot(readFileSync(file, 'utf8')), { level: 'full' });
    expect(report.violations).toEqual([]);
  });
});
