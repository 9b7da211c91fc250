// @ts-check
// ava's settings for `npm run test:real` (tools/test-real.mjs): the files of
// the real backend, which `npm test` leaves out; the rest as ava.config.mjs.
import base from './ava.config.mjs';

export default { ...base, files: ['test/real/**/*.test.mjs'] };
