import { z } from 'zod';

/** A command-line duration — `30s`, `2m`, `1500ms` or plain seconds — as ms; the error names `flag`. */
export const duration = (flag: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m)?$/, `${flag} must be a duration such as 30s, 2m or 1500ms`)
    .transform((text) => {
      const value = Number.parseFloat(text);
      if (text.endsWith('ms')) return value;
      if (text.endsWith('m')) return value * 60_000;
      return value * 1000;
    });
