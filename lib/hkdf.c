/* hkdf.c - HKDF-SHA-256 (RFC 5869); libsodium 1.0.18 has none. */
#include <string.h>

#include <sodium.h>

#include "api.h"

int
api_hkdf_sha256(unsigned char *out, size_t outlen,
    const unsigned char *salt, size_t saltlen,
    const unsigned char *ikm, size_t ikmlen,
    const unsigned char *info, size_t infolen)
{
	unsigned char prk[crypto_auth_hmacsha256_BYTES];
	unsigned char t[crypto_auth_hmacsha256_BYTES];
	unsigned char zero[crypto_auth_hmacsha256_BYTES] = { 0 };
	crypto_auth_hmacsha256_state st;
	unsigned char ctr = 1;
	size_t done = 0, n;

	if (outlen > 255 * sizeof t)
		return api_error_set(API_EINVAL, "hkdf: output too long");
	if (salt == NULL || saltlen == 0) {
		salt = zero;
		saltlen = sizeof zero;
	}
	/* extract */
	crypto_auth_hmacsha256_init(&st, salt, saltlen);
	crypto_auth_hmacsha256_update(&st, ikm, ikmlen);
	crypto_auth_hmacsha256_final(&st, prk);
	/* expand */
	while (done < outlen) {
		crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
		if (done > 0)
			crypto_auth_hmacsha256_update(&st, t, sizeof t);
		crypto_auth_hmacsha256_update(&st, info, infolen);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		n = outlen - done < sizeof t ? outlen - done : sizeof t;
		memcpy(out + done, t, n);
		done += n;
		ctr++;
	}
	sodium_memzero(prk, sizeof prk);
	sodium_memzero(t, sizeof t);
	sodium_memzero(&st, sizeof st);
	return API_OK;
}
