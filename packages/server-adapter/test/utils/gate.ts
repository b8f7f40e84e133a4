/** A gate for interleaving tests: a hook awaits `hold()` until the test calls `open()`. */
export function held(): { hold: () => Promise<void>; reached: Promise<void>; open: () => void } {
  let open!: () => void;
  let reach!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  const reached = new Promise<void>((r) => {
    reach = r;
  });
  return {
    /** Called by the hook: tells the test it got here, then waits for `open()`. */
    hold: () => {
      reach();
      return wait;
    },
    reached,
    open,
  };
}
