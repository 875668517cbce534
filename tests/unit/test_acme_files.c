/* SPDX-License-Identifier: ISC */
/*
 * Keys and atomic files: every key type generates, saves 0600, loads back
 * as the same key; encrypted or unsupported keys are refused; a file set
 * is written completely or not at all, with no temporaries left behind.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "harness.h"
#include "issuer/files.h"
#include "issuer/key.h"

static char tmpdir[] = "/tmp/d01-files-XXXXXX";

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
t_key_types(void)
{
	char path[256];
	struct stat st;
	EVP_PKEY *k = NULL, *back = NULL;
	enum d01_key_type t;
	int i;

	for (i = 0; i < D01_KEY__MAX; i++) {
		CHECK(d01_key_type_parse(d01_key_type_name(i), &t) == 0);
		CHECK_INT(t, ==, i);
		CHECK((k = d01_key_generate(t, NULL)) != NULL);
		snprintf(path, sizeof(path), "%s/%s.key", tmpdir,
		    d01_key_type_name(t));
		CHECK(d01_key_save(path, k, NULL) == D01_OK);
		CHECK(stat(path, &st) == 0);
		CHECK_INT(st.st_mode & 0777, ==, 0600);
		CHECK((back = d01_key_load(path, NULL)) != NULL);
		CHECK(EVP_PKEY_eq(k, back) == 1);
		EVP_PKEY_free(k);
		EVP_PKEY_free(back);
		k = back = NULL;
	}
	CHECK(d01_key_type_parse("ed25519", &t) == -1);
end:
	EVP_PKEY_free(k);
	EVP_PKEY_free(back);
}

static void
t_key_refused(void)
{
	char path[256];
	struct d01_error err;
	EVP_PKEY *k = d01_key_generate(D01_KEY_EC256, NULL), *x = NULL;
	FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	CHECK(d01_key_load(path, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_NOTFOUND);
	/* Encrypted: refused, never prompted for. */
	snprintf(path, sizeof(path), "%s/enc.key", tmpdir);
	CHECK((f = fopen(path, "w")) != NULL);
	CHECK(PEM_write_PKCS8PrivateKey(
	    f, k, EVP_aes_128_cbc(), "pw", 2, NULL, NULL));
	fclose(f);
	f = NULL;
	CHECK((x = d01_key_load(path, &err)) == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, path) != NULL);
	CHECK((x = d01_key_from_pem("garbage", 7, &err)) == NULL);
	/* Ed25519 is a fine key, but not one ACME CAs take here. */
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	snprintf(path, sizeof(path), "%s/ed.key", tmpdir);
	CHECK(k != NULL && d01_key_save(path, k, NULL) == D01_OK);
	CHECK((x = d01_key_load(path, &err)) == NULL);
	CHECK(strstr(err.msg, "unsupported") != NULL);
end:
	if (f != NULL)
		fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_free(x);
}

static void
t_commit_set(void)
{
	char dir[256], path[300], *data = NULL;
	struct d01_file_out files[] = {
	    {"privkey.pem", "KEY\n", 4, 0600},
	    {"cert.pem", "CERT\n", 5, 0644},
	};
	struct d01_error err;
	struct stat st;
	size_t len = 0;

	snprintf(dir, sizeof(dir), "%s/out", tmpdir);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(d01_files_commit(dir, files, 2, &err) == D01_OK);
	CHECK_INT(count_entries(dir), ==, 2);
	snprintf(path, sizeof(path), "%s/privkey.pem", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(d01_file_read(path, 100, &data, &len, NULL) == D01_OK);
	CHECK_STR(data, "KEY\n");
	free(data);
	data = NULL;
	CHECK(d01_file_read(path, 3, &data, &len, &err) == D01_E_LIMIT);
	/* Overwrite: the new content replaces the old in one step. */
	files[0].data = "KEY2\n";
	files[0].len = 5;
	CHECK(d01_files_commit(dir, files, 2, &err) == D01_OK);
	CHECK(d01_file_read(path, 100, &data, &len, NULL) == D01_OK);
	CHECK_STR(data, "KEY2\n");
	/* A name that cannot be written: nothing changes, no temporaries. */
	files[1].name = "no/such";
	CHECK(d01_files_commit(dir, files, 2, &err) != D01_OK);
	CHECK_INT(count_entries(dir), ==, 2);
	files[1].name = "cert.pem";
	CHECK(chmod(dir, 0500) == 0);
	if (geteuid() != 0) { /* root ignores the permission bits */
		CHECK(d01_files_commit(dir, files, 2, &err) != D01_OK);
		CHECK_INT(count_entries(dir), ==, 2);
	}
	CHECK(chmod(dir, 0700) == 0);
end:
	free(data);
}

static int
rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(t_key_types);
	RUN(t_key_refused);
	RUN(t_commit_set);
	rm_rf(tmpdir);
	return harness_done();
}
