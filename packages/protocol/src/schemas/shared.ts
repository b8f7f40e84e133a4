/** Pieces both directions' frames use that are not exported as schemas of their own. */
import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import { Ref } from './base.js';

/** The optional `ref` of a request and of its answer. */
export const ref = z.optional(Ref);

/** A custom event's name. */
export const eventName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(Limits.MAX_EVENT_NAME_LENGTH),
    z.regex(/^[A-Za-z0-9_.:-]+$/, 'name may contain letters, digits, _ . : - only'),
  );
