/**
 * Declaration-build settings shared by every package's `tsup.config.ts`.
 *
 * - `stripInternal`: members tagged `@internal` (the client's conversation plumbing, for example)
 *   are left out of the published `.d.ts`, so they are neither public API nor autocompleted.
 * - `asyncDisposeShim`: for packages whose public types have a `[Symbol.asyncDispose]()` member.
 *   That member needs `SymbolConstructor.asyncDispose`, which only TypeScript's
 *   `esnext.disposable` lib and `@types/node` declare; a browser app compiled with
 *   `lib: ["es2022", "dom"]` (and `skipLibCheck: false`) would fail on our `.d.ts`. The footer
 *   declares the one property, exactly as `@types/node` does (`compatibility/disposable.d.ts`),
 *   so it merges with either when they are present and pulls in nothing else (no
 *   `DisposableStack` types an app would believe exist at runtime).
 */
import type { Options } from 'tsup';

type DtsOptions = Exclude<Options['dts'], boolean | string | undefined>;

const ASYNC_DISPOSE_SHIM = `
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}`;

/** `dts` options for a package whose types do not mention `Symbol.asyncDispose`. */
export const dts: DtsOptions = { compilerOptions: { stripInternal: true } };

/** `dts` options for a package whose public types have a `[Symbol.asyncDispose]()` member. */
export const dtsWithAsyncDispose: DtsOptions = { ...dts, footer: ASYNC_DISPOSE_SHIM };
