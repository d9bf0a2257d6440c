import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

/**
 * Two validators, because OpenStack wants two behaviours: bodies are checked
 * as sent (a string where a boolean belongs is a 400, an unknown key is a 400
 * where the schema closes the object), while query strings and path params
 * are strings on the wire and are coerced to the schema's types.
 */
function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const queryAjv = makeAjv(true);

type Validate = (data: unknown, ctx?: unknown) => boolean;

/** What Fastify calls: ajv's shape (a function with `errors`; `schemaEnv` makes Fastify pass the parent data, as it does for ajv). */
interface LazyValidator extends Validate {
  errors?: ValidateFunction['errors'];
  schemaEnv?: unknown;
}

/**
 * Validators by part and schema text, compiled on first use. Many routes
 * share one schema (every `/:id` route) and Fastify hands each route its own
 * copy, so ajv's identity-keyed cache missed; and compiling all ~50 distinct
 * schemas cold took over a second of CPU before the server could listen.
 * Now start-up compiles none: each is compiled by its first request, or by
 * warmValidators() in the background once the server listens.
 */
const validators = new Map<string, LazyValidator>();
const uncompiled: (() => unknown)[] = [];

function lazyValidator(ajv: Ajv, schema: object): LazyValidator {
  let compiled: ValidateFunction | undefined;
  const get = (): ValidateFunction => (compiled ??= ajv.compile(schema));
  const fn: LazyValidator = (data, ctx) => {
    const v = get();
    const ok = (v as Validate)(data, ctx);
    fn.errors = v.errors;
    return ok;
  };
  fn.schemaEnv = true;
  uncompiled.push(get);
  return fn;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const coerce = httpPart !== 'body';
  const key = `${coerce ? 'q' : 'b'}${JSON.stringify(schema)}`;
  let fn = validators.get(key);
  if (!fn) {
    fn = lazyValidator(coerce ? queryAjv : bodyAjv, schema as object);
    validators.set(key, fn);
  }
  return fn as unknown as ReturnType<FastifySchemaCompiler<unknown>>;
};

/**
 * Compiles the validators no request has needed yet, one per turn of the
 * event loop, so requests keep being answered meanwhile. A schema ajv
 * rejects is reported (and its route will answer 500 until fixed).
 */
export function warmValidators(onError: (err: unknown) => void): void {
  const next = (): void => {
    const get = uncompiled.shift();
    if (!get) return;
    try {
      get();
    } catch (err) {
      onError(err);
    }
    setImmediate(next).unref();
  };
  setImmediate(next).unref();
}
