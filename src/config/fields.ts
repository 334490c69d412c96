import { list, str, type Field, type ListSchema } from './schema.js';

/**
 * The fields of a mapping, one for every key of the config type it yields: a
 * key the type has and the schema lacks, or the other way round, does not
 * compile, so the hand-written schema and the Config type cannot drift apart.
 */
export type FieldsOf<T> = { readonly [K in keyof Required<T>]: Field };

/** An argv (never run through a shell): at least one string, numbers kept as written (`[sleep, 10]`), the program not empty. */
export const argv: ListSchema = list(str(undefined, { fromNumbers: true }), {
  minItems: 1,
  check: (items, report) => {
    if (items[0] === '') report('[0]', 'must not be empty (it is the program to run)');
  },
});
