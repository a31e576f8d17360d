/**
 * Which keys of a block were variable definitions (`PERM = {...}` then
 * `permissions: $PERM`). nats-server keeps such keys in the block but does
 * not report them as unknown fields. Parsed maps carry that on each entry;
 * once a block is turned into a plain object (the options keep plain
 * values), it travels as this hidden, non-enumerable property, which no
 * JSON, key listing or comparison sees.
 */
const VARIABLE_KEYS = Symbol('variable definitions');

type Marked = { [VARIABLE_KEYS]?: ReadonlySet<string> };

/** Marks `keys` of `obj` as variable definitions. */
export function markVariableKeys(obj: object, keys: readonly string[]): void {
  if (keys.length > 0) Object.defineProperty(obj, VARIABLE_KEYS, { value: new Set(keys), enumerable: false });
}

/** Was `key` of the plain object `obj` a variable definition? */
export function isVariableKey(obj: object, key: string): boolean {
  return (obj as Marked)[VARIABLE_KEYS]?.has(key) === true;
}
