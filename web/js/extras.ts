// The package's code that only some users need, with its own wasm (web/extras): the vault's key
// derivation (Argon2id) and the shell history parser. Imported on first use (index.ts): the
// package entry and its wasm do not carry it.
export { default, argon2id, parseShellHistory } from '../pkg/terrapin_extras.js';
