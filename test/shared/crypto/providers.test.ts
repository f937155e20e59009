/**
 * Runs the CryptoProvider conformance suite against every provider, and the cross-provider
 * agreement checks over all three. `web` runs over Node's own WebCrypto (OpenSSL underneath);
 * the browser end-to-end suites run it over Chromium's.
 */
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { NobleCrypto } from '../../../shared/crypto/nobleCrypto.js';
import { WebCryptoProvider } from '../../../shared/crypto/webCrypto.js';
import { runCrossProviderTests, runCryptoProviderTests } from './providerConformance.js';

const factories = {
  native: () => new NativeCrypto(),
  noble: () => new NobleCrypto(),
  web: () => new WebCryptoProvider({ subtle: globalThis.crypto.subtle }),
};

for (const [name, factory] of Object.entries(factories)) runCryptoProviderTests(name, factory);
runCrossProviderTests(factories);
