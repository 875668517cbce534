/* SPDX-License-Identifier: ISC */
/*
 * Replays every file of a corpus directory through a fuzz target's
 * LLVMFuzzerTestOneInput, so the corpora (and any crasher saved there) run
 * as ordinary ctest tests in every build, sanitized or not.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv);

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf = NULL;
	long len;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* malloc(0) may return NULL; always allocate at least one byte. */
	if ((buf = malloc((size_t)len + 1)) == NULL)
		goto out;
	if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	char path[4096];
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if ((d = opendir(argv[1])) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) != 0) {
			fprintf(stderr, "cannot read %s\n", path);
			closedir(d);
			return 1;
		}
		n++;
	}
	closedir(d);
	fprintf(stderr, "replayed %d inputs from %s\n", n, argv[1]);
	/* An empty corpus proves nothing: fail rather than pass vacuously. */
	return n > 0 ? 0 : 1;
}
