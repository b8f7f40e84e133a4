/** Disposers run after each test of the current describe block, last registered first. */
import { afterEach } from 'vitest';

export function afterEachDispose(): (() => Promise<void>)[] {
  const disposers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const d of disposers.splice(0).reverse()) await d();
  });
  return disposers;
}
