/**
 * Test-only nkeys used by the fixtures in test/fixtures/security. The seeds
 * are public on purpose: nothing outside the tests may trust these keys.
 */
export const CHAT_ACCESS = {
  publicKey: 'UCW5QADWGGG7PTLWKMAWPOBTDZAT7YN6M3JPNMOJ6HFAYDOS6TTGLZDJ',
  seed: 'SUAH73QAAA2EJZGHM42NVFCLZLGUZDTR6QO7JLFL62XU6IIW7TMS6BHH3Q',
};

export const CHAT_USER = {
  publicKey: 'UBSJ24VH3W55OW5COAU265NEZIEG4MJUQT2JK6YBDMXHS4S2MFEN4Y2Y',
  seed: 'SUAM5LDO3ZDCEBKLNNPIJUXJ6635J6RQ67ZQR2KA5SY5S67S4FVAPESKOU',
};

/** An account public key (prefix A), which is not a user key. */
export const ACCOUNT_KEY = 'ABVMMYYVCVNV6IQ7HGLCOGOH4JGG72XGDOPT425N2SZX2LU7I4BVWRWO';
