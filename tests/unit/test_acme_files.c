/* SPDX-License-Identifier: ISC */
/*
 * Keys and atomic files: every key type generates, saves 0600, loads back
 * as the same key; encrypted or unsupported keys are refused; a file set
 * is written completely or not at all, with no temporaries left behind:
 * a name that cannot be replaced or a rename failing at any position
 * leaves the previous set byte for byte (same inodes); a commit killed
 * half-way is completed (or undone) by recovery; the --out lock excludes
 * a second holder; the pre-flight check refuses what a commit could not
 * replace.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
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

static const char *const set_names[] = {
    "privkey.pem", "cert.pem", "chain.pem", "fullchain.pem", "renewal.json"};
#define SET_N 5

/* Write the old set (no renewal.json: a name new in this commit). */
static int
old_set(const char *dir)
{
	char path[300];
	size_t i;
	FILE *f;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < SET_N - 1; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, set_names[i]);
		if ((f = fopen(path, "w")) == NULL)
			return -1;
		fprintf(f, "old %s\n", set_names[i]);
		fclose(f);
	}
	return 0;
}

/* 1 when dir holds exactly the old set (content), else 0. */
static int
is_old_set(const char *dir)
{
	char path[300], want[64], *data = NULL;
	size_t i, len;
	int ok = 1;

	for (i = 0; ok && i < SET_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, set_names[i]);
		if (i == SET_N - 1) {
			ok = access(path, F_OK) != 0;
			break;
		}
		snprintf(want, sizeof(want), "old %s\n", set_names[i]);
		ok = d01_file_read(path, 100, &data, &len, NULL) == D01_OK &&
		    strcmp(data, want) == 0;
		free(data);
		data = NULL;
	}
	snprintf(path, sizeof(path), "%s/.commit", dir);
	return ok && access(path, F_OK) != 0;
}

static int
is_new_set(const char *dir)
{
	char path[300], want[64], *data = NULL;
	size_t i, len;
	int ok = 1;

	for (i = 0; ok && i < SET_N; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, set_names[i]);
		snprintf(want, sizeof(want), "new %s\n", set_names[i]);
		ok = d01_file_read(path, 100, &data, &len, NULL) == D01_OK &&
		    strcmp(data, want) == 0;
		free(data);
		data = NULL;
	}
	snprintf(path, sizeof(path), "%s/.commit", dir);
	return ok && access(path, F_OK) != 0;
}

static void
new_set(struct d01_file_out *files, char data[][64])
{
	size_t i;

	for (i = 0; i < SET_N; i++) {
		snprintf(data[i], 64, "new %s\n", set_names[i]);
		files[i].name = set_names[i];
		files[i].data = data[i];
		files[i].len = strlen(data[i]);
		files[i].mode = i == 0 ? 0600 : 0644;
	}
}

/* The defect of issue 12: a name that cannot be replaced used to stop
 * the renames half-way, after privkey.pem had been replaced. */
static void
t_commit_blocked_name(void)
{
	char dir[256], path[300], data[SET_N][64];
	struct d01_file_out files[SET_N];
	struct d01_error err;

	snprintf(dir, sizeof(dir), "%s/blocked", tmpdir);
	CHECK(old_set(dir) == 0);
	/* A directory stands where chain.pem goes. */
	snprintf(path, sizeof(path), "%s/chain.pem", dir);
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/chain.pem/x", dir);
	CHECK(mkdir(path, 0700) == 0);
	new_set(files, data);
	CHECK(d01_files_commit(dir, files, SET_N, &err) != D01_OK);
	CHECK(strstr(err.msg, "chain.pem") != NULL);
	snprintf(path, sizeof(path), "%s/privkey.pem", dir);
	{
		char *got = NULL;
		size_t len;

		CHECK(d01_file_read(path, 100, &got, &len, NULL) == D01_OK);
		CHECK_STR(got, "old privkey.pem\n");
		free(got);
	}
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	{
		char *got = NULL;
		size_t len;

		CHECK(d01_file_read(path, 100, &got, &len, NULL) == D01_OK);
		CHECK_STR(got, "old cert.pem\n");
		free(got);
	}
	snprintf(path, sizeof(path), "%s/renewal.json", dir);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/.commit", dir);
	CHECK(access(path, F_OK) != 0);
	/* The pre-flight check says so before anything is asked of a CA. */
	CHECK(d01_files_check(dir, set_names, SET_N, &err) == D01_E_CONFLICT);
	CHECK(strstr(err.msg, "chain.pem: not a regular file") != NULL);
	CHECK(access(path, F_OK) != 0);
end:;
}

/* A rename failing at each position in turn: the old set comes back,
 * the same inodes, and a name that did not exist is gone again. */
static void
t_commit_rollback(void)
{
	char dir[256], path[300], data[SET_N][64];
	struct d01_file_out files[SET_N];
	struct d01_error err;
	struct stat before[SET_N], after;
	size_t i;
	int k;

	new_set(files, data);
	for (k = 0; k < SET_N; k++) {
		snprintf(dir, sizeof(dir), "%s/rollback%d", tmpdir, k);
		CHECK(old_set(dir) == 0);
		for (i = 0; i < SET_N - 1; i++) {
			snprintf(
			    path, sizeof(path), "%s/%s", dir, set_names[i]);
			CHECK(stat(path, &before[i]) == 0);
		}
		d01_files_test_hook(k, -1);
		CHECK(d01_files_commit(dir, files, SET_N, &err) != D01_OK);
		CHECK(strstr(err.msg, set_names[k]) != NULL);
		CHECK(strstr(err.msg, "previous set is back") != NULL);
		CHECK(is_old_set(dir));
		for (i = 0; i < SET_N - 1; i++) {
			snprintf(
			    path, sizeof(path), "%s/%s", dir, set_names[i]);
			CHECK(stat(path, &after) == 0);
			CHECK(after.st_ino == before[i].st_ino);
		}
		CHECK_INT(count_entries(dir), ==, SET_N - 1);
		/* The hook is spent: the next commit goes through. */
		CHECK(d01_files_commit(dir, files, SET_N, &err) == D01_OK);
		CHECK(is_new_set(dir));
		snprintf(path, sizeof(path), "%s/privkey.pem", dir);
		CHECK(
		    stat(path, &after) == 0 && (after.st_mode & 0777) == 0600);
	}
end:
	d01_files_test_hook(-1, -1);
}

/* Killed after k renames: recovery completes the new set; with the
 * rollback marker (killed while undoing) it restores the old one;
 * killed before the commit point, the staging is dropped. */
static void
t_recover(void)
{
	char dir[256], path[300], data[SET_N][64];
	struct d01_file_out files[SET_N];
	enum d01_files_recovery what;
	struct d01_error err;
	FILE *f;
	int k;

	new_set(files, data);
	for (k = 0; k <= SET_N; k++) {
		snprintf(dir, sizeof(dir), "%s/fwd%d", tmpdir, k);
		CHECK(old_set(dir) == 0);
		d01_files_test_hook(-1, k);
		CHECK(d01_files_commit(dir, files, SET_N, &err) ==
		    D01_E_INTERNAL);
		snprintf(path, sizeof(path), "%s/.commit/names", dir);
		CHECK(access(path, F_OK) == 0); /* the journal is there */
		CHECK(d01_files_recover(dir, &what, &err) == D01_OK);
		CHECK_INT(what, ==, D01_FILES_ROLLED_FORWARD);
		CHECK(is_new_set(dir));
		CHECK(d01_files_recover(dir, &what, &err) == D01_OK);
		CHECK_INT(what, ==, D01_FILES_CLEAN);

		snprintf(dir, sizeof(dir), "%s/back%d", tmpdir, k);
		CHECK(old_set(dir) == 0);
		d01_files_test_hook(-1, k);
		CHECK(d01_files_commit(dir, files, SET_N, &err) ==
		    D01_E_INTERNAL);
		snprintf(path, sizeof(path), "%s/.commit/rollback", dir);
		CHECK((f = fopen(path, "w")) != NULL);
		fclose(f);
		/* A commit recovers first, then writes its own set. */
		if (k == 2) {
			CHECK(d01_files_commit(dir, files, SET_N, &err) ==
			    D01_OK);
			CHECK(is_new_set(dir));
			continue;
		}
		CHECK(d01_files_recover(dir, &what, &err) == D01_OK);
		CHECK_INT(what, ==, D01_FILES_ROLLED_BACK);
		CHECK(is_old_set(dir));
	}
	/* Before the commit point: a staging without the list. */
	snprintf(dir, sizeof(dir), "%s/staged", tmpdir);
	CHECK(old_set(dir) == 0);
	snprintf(path, sizeof(path), "%s/.commit", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/.commit/new", dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/.commit/new/cert.pem", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	fclose(f);
	CHECK(d01_files_recover(dir, &what, &err) == D01_OK);
	CHECK_INT(what, ==, D01_FILES_DISCARDED);
	CHECK(is_old_set(dir));
	/* Not ours: refused, not deleted. */
	snprintf(path, sizeof(path), "%s/.commit", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	fclose(f);
	CHECK(d01_files_recover(dir, &what, &err) == D01_E_CONFLICT);
	CHECK(access(path, F_OK) == 0);
end:
	d01_files_test_hook(-1, -1);
}

static void
t_lock_and_check(void)
{
	char dir[256], path[300];
	struct d01_error err;
	int a = -1, b = -1;

	snprintf(dir, sizeof(dir), "%s/lock", tmpdir);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(d01_files_lock(dir, &a, &err) == D01_OK && a >= 0);
	/* flock is per open file: a second descriptor is a second run. */
	CHECK(d01_files_lock(dir, &b, &err) == D01_E_CONFLICT && b == -1);
	CHECK(strstr(err.msg, "in use by another dns01 issue") != NULL);
	close(a);
	a = -1;
	CHECK(d01_files_lock(dir, &b, &err) == D01_OK);
	CHECK(d01_files_check(dir, set_names, SET_N, &err) == D01_OK);
	snprintf(path, sizeof(path), "%s/.commit", dir);
	CHECK(access(path, F_OK) != 0); /* the probe left nothing */
	/* A directory nobody, root included, can create files in. */
	if (access("/proc/1", F_OK) == 0) {
		CHECK(d01_files_lock("/proc/1", &a, &err) != D01_OK);
		CHECK(strstr(err.msg, "not writable") != NULL);
		CHECK(d01_files_check("/proc/1", set_names, SET_N, &err) !=
		    D01_OK);
		CHECK(strstr(err.msg, "not writable") != NULL);
	}
end:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
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
	RUN(t_commit_blocked_name);
	RUN(t_commit_rollback);
	RUN(t_recover);
	RUN(t_lock_and_check);
	rm_rf(tmpdir);
	return harness_done();
}
