/**
 * Errors of the compute driver. Callers map them: InvalidSpec and
 * Unsupported are the client's fault or a policy answer (4xx at the API),
 * NotFound and InvalidState tell the reconciler what the host has, the rest
 * are host failures (a fault on the server, with the message as details).
 */
export type ComputeErrorCode =
  /** The spec cannot be run as given (bad path, too little memory, microvm without a kernel...). */
  | 'InvalidSpec'
  /** The host has no such instance (or no running process for an operation that needs one). */
  | 'NotFound'
  /** The instance is in a state the operation cannot act on (e.g. pause of a stopped instance). */
  | 'InvalidState'
  /** This machine type or host cannot do that (e.g. NIC hot-plug on microvm). */
  | 'Unsupported'
  /** QEMU or a host tool failed, or did not answer in time. */
  | 'HostFailure';

/** An error of the compute driver, with a message a person can act on. */
export class ComputeError extends Error {
  override name = 'ComputeError';
  constructor(
    readonly code: ComputeErrorCode,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

/** True when err is a ComputeError with one of the codes. */
export function isComputeError(err: unknown, ...codes: ComputeErrorCode[]): err is ComputeError {
  return err instanceof ComputeError && (codes.length === 0 || codes.includes(err.code));
}
