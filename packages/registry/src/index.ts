export * from "./errors.js";
export * from "./hosts.js";
export * from "./credentials.js";
export { RegistryClient, parseChallenge, type ClientOptions, type Response } from "./client.js";
export * from "./pull.js";
export * from "./push.js";
export { hostPlatform, platformMatches, formatPlatform } from "./platform.js";
export { BlobLocations } from "./locations.js";
