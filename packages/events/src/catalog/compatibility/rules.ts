/**
 * The rules a schema change can break, in Confluent Schema Registry's terms:
 * a `backward` violation means the new schema cannot read data written with
 * the old one (deploy consumers first is not enough); a `forward` violation
 * means the old schema cannot read data written with the new one.
 */
export type CompatibilityRule =
  /** backward: an event the previous release declared is gone; its events can no longer be read. */
  | 'event-removed'
  /** backward: a version the previous release declared is gone; its events can no longer be read. */
  | 'version-removed'
  /** forward: a new event; consumers of the previous release dead-letter it (unknown name). */
  | 'event-added'
  /** forward: a new version; consumers of the previous release dead-letter it (version newer than they know). */
  | 'version-added'
  /** backward: a new version's upcaster was run on no example of the version before it. */
  | 'upcaster-unverified'
  /** backward: the new schema requires a field that old events lack. */
  | 'field-added-required'
  /** backward: a field old events may omit became required. */
  | 'field-made-required'
  /** forward: a field the old schema requires is gone from new events. */
  | 'field-removed'
  /** forward: a field the old schema requires became optional. */
  | 'field-made-optional'
  /** backward: a strict object of the new schema refuses a field old events carry. */
  | 'field-removed-strict'
  /** forward: a strict object of the old schema refuses a field new events carry. */
  | 'field-added-strict'
  /** backward: an object that accepted any further field now refuses them. */
  | 'object-closed'
  /** forward: an object now writes further fields the old strict schema refuses. */
  | 'object-opened'
  /** both: the field's type changed (string to number, object to array, …). */
  | 'type-changed'
  /** backward: the type was narrowed (number to integer, anything to a type). */
  | 'type-narrowed'
  /** forward: the type was widened (integer to number, a type to anything). */
  | 'type-widened'
  /** backward: an enum (or literal) value old events may carry is no longer accepted. */
  | 'enum-value-removed'
  /** forward: new events may carry an enum (or literal) value the old schema refuses. */
  | 'enum-value-added'
  /** backward: a bound, length, pattern or format got stricter. */
  | 'constraint-tightened'
  /** forward: a bound, length, pattern or format got looser. */
  | 'constraint-loosened'
  /** both: a JSON Schema keyword this check cannot reason about (allOf, not, if/then, …) changed. */
  | 'unsupported-change';

/** How to fix each rule, for the report. @internal */
export const RULE_HINTS: Readonly<Record<CompatibilityRule, string>> = {
  'event-removed': 'keep the event in the catalogue while its events may still be read',
  'version-removed': 'keep the version in defineEvent(…).evolve(…) while its events may still be read',
  'event-added':
    'deploy the consumers first and check with --level backward, or emit it to a topic old consumers do not read',
  'version-added':
    'deploy the consumers first and check with --level backward, or change the existing version compatibly instead',
  'upcaster-unverified':
    'add examples to the version before it (defineEvent({ …, examples }) or evolve({ …, examples })): the catalogue runs the upcasters on them',
  'field-added-required':
    'make the field optional or give it a .default(…), or add a version with an upcaster that fills it',
  'field-made-required':
    'keep the field optional or give it a .default(…), or add a version with an upcaster that fills it',
  'field-removed': 'keep the field (deprecate it and keep writing it), or make it optional in the old schema first',
  'field-made-optional': 'keep it required, or give it a .default(…) so it is always written',
  'field-removed-strict': 'keep the field, or use z.object (which strips unknown fields) instead of z.strictObject',
  'field-added-strict': 'use z.object (which strips unknown fields) in the old schema, or add a version instead',
  'object-closed': 'keep the object open (z.looseObject / z.object), or add a version with an upcaster',
  'object-opened': 'keep the object closed, or add a version instead',
  'type-changed': 'add a new field with the new type (or a new version with an upcaster) instead of changing this one',
  'type-narrowed': 'keep the wider type and narrow in code, or add a version with an upcaster',
  'type-widened': 'keep the narrower type, or add a version instead',
  'enum-value-removed': 'keep accepting the value, or add a version whose upcaster maps it to a kept one',
  'enum-value-added': 'deploy consumers that accept the value first (check with --level backward), or add a version',
  'constraint-tightened': 'keep the old bound and validate the stricter one in code, or add a version with an upcaster',
  'constraint-loosened': 'keep the old bound, or add a version instead',
  'unsupported-change': 'this check cannot prove the change compatible: keep the keyword unchanged or add a version',
};
