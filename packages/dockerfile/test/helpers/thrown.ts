/** The error of class `cls` that `f` throws (a test fails when it throws nothing or something else). */
export function thrown<E extends Error>(cls: abstract new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}`);
}
