/**
 * The one error an operation throws: the provider's own code, HTTP status and message (and OSS's
 * `EC`). The server renders it in the provider's error XML; nothing else about it is provider-specific.
 */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    readonly code: string,
    readonly httpStatus: number,
    message: string,
    /** OSS's diagnostic error code. */
    readonly ec?: string,
  ) {
    super(message);
  }
}
