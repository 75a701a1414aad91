/*
 * vswctl-wg.c - vswctl wireguard genkey | pubkey, as wg genkey | pubkey.
 *
 * genkey prints a fresh private key and a newline.  Like wg, it warns when
 * its output is a file others may read: the key is written there all the
 * same, the warning is for the user who forgot "umask 077".  pubkey reads
 * one private key from standard input (44 characters of base64, then
 * nothing but blanks, as wg accepts) and prints its public key.  Key bytes
 * are wiped before exit.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tunnel/wg-key.h"

#include "vswctl-wg.h"

#define WG_KEY_B64_CHARS	(WG_KEY_B64_LEN - 1)

bool
vswctl_wg_is_local(int argc, char **argv)
{
	return argc >= 2 && strcmp(argv[0], "wireguard") == 0 &&
	    (strcmp(argv[1], "genkey") == 0 || strcmp(argv[1], "pubkey") == 0);
}

static int
print_key(const uint8_t key[WG_KEY_LEN])
{
	char	b64[WG_KEY_B64_LEN];
	int	rc = 0;

	wg_key_to_base64(b64, key);
	if (printf("%s\n", b64) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "vswctl: cannot write the key\n");
		rc = 1;
	}
	explicit_bzero(b64, sizeof(b64));
	return rc;
}

static int
genkey(void)
{
	uint8_t		priv[WG_KEY_LEN];
	struct stat	st;
	int		rc;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		fprintf(stderr, "vswctl: warning: writing a private key to a "
		    "file others may read (mode %04o; umask 077 first)\n",
		    (unsigned)(st.st_mode & 07777));
	wg_key_generate(priv);
	rc = print_key(priv);
	explicit_bzero(priv, sizeof(priv));
	return rc;
}

static int
pubkey(void)
{
	uint8_t	priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char	b64[WG_KEY_B64_CHARS + 1];
	size_t	n;
	int	c, rc = 1;

	n = fread(b64, 1, WG_KEY_B64_CHARS, stdin);
	b64[n] = '\0';
	while ((c = getchar()) != EOF)
		if (c != '\0' && !isspace(c))
			break;
	if (n != WG_KEY_B64_CHARS || c != EOF ||
	    wg_key_from_base64(priv, b64) != 0)
		fprintf(stderr, "vswctl: standard input holds no private key "
		    "(expected 44 characters of base64, as wg genkey "
		    "prints)\n");
	else if (wg_key_public(pub, priv) != 0)
		fprintf(stderr, "vswctl: that private key gives no public "
		    "key\n");
	else
		rc = print_key(pub);
	explicit_bzero(priv, sizeof(priv));
	explicit_bzero(b64, sizeof(b64));
	return rc;
}

int
vswctl_wg_run(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "vswctl: usage: wireguard %s (no arguments: "
		    "'%s' is one too many)\n", argv[1], argv[2]);
		return 1;
	}
	return strcmp(argv[1], "genkey") == 0 ? genkey() : pubkey();
}
