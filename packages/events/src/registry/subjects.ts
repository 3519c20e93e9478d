/**
 * How a record's subject (the registry's name for a line of schema versions) is chosen:
 * - `record` (default, Confluent's RecordNameStrategy): the event name, e.g. `play.started`. One
 *   subject per event type, whatever topic it goes to: several event types share a topic, and each
 *   type's versions are checked for compatibility against its own earlier versions.
 * - `topic-record` (TopicRecordNameStrategy): `<topic>-<event name>`, e.g. `events-play.started`:
 *   the same, kept apart per topic (the same event may evolve differently on two topics).
 * - `topic` (TopicNameStrategy, Confluent's default): `<topic>-value`. One subject per topic, so
 *   only for a topic that carries a single event type: with two, each would be checked against
 *   the other's schema and refused.
 */
export type SubjectStrategy = 'record' | 'topic-record' | 'topic';

/** @internal The subject of event `name` sent to `topic` under `strategy`. */
export function subjectOf(strategy: SubjectStrategy, topic: string, name: string): string {
  switch (strategy) {
    case 'record':
      return name;
    case 'topic-record':
      return `${topic}-${name}`;
    case 'topic':
      return `${topic}-value`;
  }
}
