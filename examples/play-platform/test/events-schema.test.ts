import { readFileSync } from 'node:fs';
import {
  checkCompatibility,
  exportSchemaSnapshot,
  formatSchemaSnapshot,
  formatViolations,
  parseSchemaSnapshot,
} from '@backlot/events';
import { describe, expect, it } from 'vitest';
import { playEvents } from '../src/events.js';

const file = new URL('../events.schema.json', import.meta.url);
const committed = () => readFileSync(file, 'utf8');

describe("the Play platform's event schemas", () => {
  it('are backward compatible with the committed snapshot (events already in the topics stay readable)', () => {
    const report = checkCompatibility(playEvents, parseSchemaSnapshot(committed(), 'events.schema.json'), {
      level: 'backward',
    });
    if (!report.compatible) {
      expect.fail(
        `breaking change(s) to src/events.ts; do not just regenerate the snapshot, add a version with an upcaster:\n${formatViolations(report).join('\n')}`,
      );
    }
  });

  it('match the committed snapshot', () => {
    if (formatSchemaSnapshot(exportSchemaSnapshot(playEvents)) !== committed()) {
      expect.fail(
        'events.schema.json is out of date with src/events.ts: run `npm run events:schema -w @backlot/example-play-platform` and commit it',
      );
    }
  });

  it('hand the stream processor the latest playback.started, also for v1 events still in the topic', () => {
    expect(playEvents.versionOf('playback.started')).toBe(2);
    const v1 = {
      id: 'e1',
      name: 'playback.started',
      version: 1,
      time: '2026-12-01T20:00:00.000Z',
      source: 'play-api',
      payload: {
        profileId: 'p1',
        titleId: 't1',
        device: 'tv',
        country: 'FR',
        sessionId: 's1',
        resumePositionMs: 61_000,
      },
    };
    const event = playEvents.decode(JSON.stringify(v1));
    expect(event).toMatchObject({ version: 2, payload: { resumed: true, resumePositionMs: 61_000 } });
    const emitted = playEvents.envelope(
      'playback.started',
      {
        profileId: 'p1',
        titleId: 't1',
        device: 'web',
        country: 'BR',
        sessionId: 's2',
        resumePositionMs: 0,
        resumed: false,
      },
      { source: 'play-api' },
    );
    expect(emitted.version).toBe(2);
  });
});
