/* ELF helpers shared by the module scanner and the Swift hook installer. */
#ifndef ALLOCTRACE_ELF_NOTES_H
#define ALLOCTRACE_ELF_NOTES_H
#include <link.h>
#include <stddef.h>

/* The GNU build-id inside a block of ELF notes, or NULL. */
const unsigned char *at_find_build_id(const unsigned char *notes, size_t len, size_t *id_len);

#endif
