/* SPDX-License-Identifier: ISC */
/*
 * The program of every d01_layer_<folder> check (CMakeLists.txt): it is
 * linked with one folder's whole library and only the libraries that
 * folder declares beneath it, so a call into an undeclared layer is an
 * undefined reference and the build stops there. It is never run.
 */
int
main(void)
{
	return 0;
}
