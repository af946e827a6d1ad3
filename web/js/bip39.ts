// The BIP39 English word list (core/src/crypto/bip39_english.txt, the one the core reads), a
// module of its own (pkg/bip39.js): only a key given as words needs it, so the main wasm does
// not carry it. esbuild inlines the text.
import text from '../../core/src/crypto/bip39_english.txt';

const words: string = text;
export default words;
