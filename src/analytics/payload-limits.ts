// Per-item limits for analytics payloads. Planhat caps a whole request body at
// 32 MB; these stop one item from taking a disproportionate share of it, or
// from storing values no client could have meant.

/** Longest identifier, email, name, action or dimension id (UTF-16 units). */
export const MAX_FIELD_LENGTH = 1_000;

/** Largest `info`, `properties` or `traits` object, as UTF-8 JSON. */
export const MAX_JSON_BYTES = 32_768;

/** Deepest nesting of such an object; the object itself is level 1. */
export const MAX_JSON_DEPTH = 10;

// Usage data cannot predate the Unix epoch, and years past 9999 have no plain
// ISO 8601 form.
export const MIN_DATE_MS = 0;
export const MAX_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// Epoch numbers below this are read as seconds: as milliseconds they would all
// fall before March 1973, while as seconds they reach past the year 5000.
export const EPOCH_SECONDS_BELOW = 100_000_000_000;

export const MS_PER_DAY = 86_400_000;
