/* bech32.c - BIP 173 bech32, without the 90-character limit (age keys). */
#include <ctype.h>
#include <string.h>

#include "api.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
polymod_step(uint32_t pre)
{
	uint32_t b = pre >> 25;

	return ((pre & 0x1ffffff) << 5) ^
	    (-((b >> 0) & 1) & 0x3b6a57b2UL) ^
	    (-((b >> 1) & 1) & 0x26508e6dUL) ^
	    (-((b >> 2) & 1) & 0x1ea119faUL) ^
	    (-((b >> 3) & 1) & 0x3d4233ddUL) ^
	    (-((b >> 4) & 1) & 0x2a1462b3UL);
}

static uint32_t
hrp_checksum(const char *hrp)
{
	uint32_t chk = 1;
	size_t i;

	for (i = 0; hrp[i]; i++)
		chk = polymod_step(chk) ^ ((unsigned char)hrp[i] >> 5);
	chk = polymod_step(chk);
	for (i = 0; hrp[i]; i++)
		chk = polymod_step(chk) ^ ((unsigned char)hrp[i] & 0x1f);
	return chk;
}

int
api_bech32_encode(char *out, size_t outlen, const char *hrp,
    const unsigned char *data, size_t len, int upper)
{
	size_t hlen = strlen(hrp), ngroups = (len * 8 + 4) / 5, pos = 0, i;
	uint32_t chk, acc = 0;
	int bits = 0;

	if (hlen == 0 || hlen + 1 + ngroups + 6 + 1 > outlen)
		return api_error_set(API_EINVAL, "bech32: output too small");
	chk = hrp_checksum(hrp);
	for (i = 0; i < hlen; i++) {
		char c = hrp[i];
		if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z'))
			return api_error_set(API_EINVAL, "bech32: bad prefix");
		out[pos++] = upper ? (char)toupper((unsigned char)c) : c;
	}
	out[pos++] = '1';
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			unsigned v = (acc >> bits) & 31;
			chk = polymod_step(chk) ^ v;
			out[pos++] = charset[v];
		}
	}
	if (bits > 0) {
		unsigned v = (acc << (5 - bits)) & 31;
		chk = polymod_step(chk) ^ v;
		out[pos++] = charset[v];
	}
	for (i = 0; i < 6; i++)
		chk = polymod_step(chk);
	chk ^= 1;
	for (i = 0; i < 6; i++)
		out[pos++] = charset[(chk >> ((5 - i) * 5)) & 31];
	out[pos] = '\0';
	if (upper)
		for (i = hlen + 1; i < pos; i++)
			out[i] = (char)toupper((unsigned char)out[i]);
	return API_OK;
}

int
api_bech32_decode(const char *s, char *hrp, size_t hrplen,
    unsigned char *data, size_t *len)
{
	size_t slen = strlen(s), sep, i, n = 0;
	int lower = 0, upper = 0, bits = 0;
	uint32_t chk, acc = 0;

	for (i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126)
			return api_error_set(API_EINVAL, "bech32: invalid character");
		if (islower(c))
			lower = 1;
		if (isupper(c))
			upper = 1;
	}
	if (lower && upper)
		return api_error_set(API_EINVAL, "bech32: mixed case");
	sep = slen;
	for (i = slen; i > 0; i--)
		if (s[i - 1] == '1') {
			sep = i - 1;
			break;
		}
	if (sep == slen || sep == 0 || slen - sep - 1 < 6 || sep + 1 > hrplen)
		return api_error_set(API_EINVAL, "bech32: malformed");
	for (i = 0; i < sep; i++)
		hrp[i] = (char)tolower((unsigned char)s[i]);
	hrp[sep] = '\0';
	chk = hrp_checksum(hrp);
	for (i = sep + 1; i < slen; i++) {
		const char *p = strchr(charset, tolower((unsigned char)s[i]));
		unsigned v;
		if (p == NULL)
			return api_error_set(API_EINVAL, "bech32: invalid character");
		v = (unsigned)(p - charset);
		chk = polymod_step(chk) ^ v;
		if (i + 6 >= slen)
			continue;       /* checksum characters carry no data */
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= *len)
				return api_error_set(API_EINVAL, "bech32: too long");
			data[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* padding: fewer than 5 bits, all zero (BIP 173 conversion rules) */
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return api_error_set(API_EINVAL, "bech32: non-zero padding");
	if (chk != 1)
		return api_error_set(API_EINVAL, "bech32: bad checksum");
	*len = n;
	return API_OK;
}
