/** Registry errors: what happened, against which registry, and what to do. */

export class RegistryError extends Error {
  override readonly name: string = "RegistryError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}
export class UnauthorizedError extends RegistryError {
  override readonly name = "UnauthorizedError";
}
export class NotFoundError extends RegistryError {
  override readonly name = "NotFoundError";
}
export class RateLimitError extends RegistryError {
  override readonly name = "RateLimitError";
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message, 429);
  }
}
export class UnsupportedMediaTypeError extends RegistryError {
  override readonly name = "UnsupportedMediaTypeError";
}
export class RegistryTimeoutError extends RegistryError {
  override readonly name = "RegistryTimeoutError";
}
