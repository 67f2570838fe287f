// The OpenSSL 3 surface proxym's certificate checks need (Debian's libssl-dev: the same library, and
// so the same PEM parser and key checks, haproxy loads certificates with). No logic lives here: only
// includes and one-line wrappers for what Swift cannot call (macros, variadic functions, stacks
// behind type-checking macros). Every symbol is prefixed.
#ifndef PROXYM_COPENSSL_SHIM_H
#define PROXYM_COPENSSL_SHIM_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long proxym_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// SSL_CTX_add1_chain_cert is a macro over SSL_CTX_ctrl.
static inline int proxym_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return (int)SSL_CTX_add1_chain_cert(ctx, cert);
}

// EVP_EC_gen is a macro over the variadic EVP_PKEY_Q_keygen.
static inline EVP_PKEY *proxym_ec_keygen(const char *curve) { return EVP_EC_gen(curve); }

// The subjectAltName extension, as a stack read through the macros below (NULL: none).
static inline GENERAL_NAMES *proxym_subject_alt_names(X509 *cert) {
    return (GENERAL_NAMES *)X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
}
static inline int proxym_general_names_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
// The dNSName of entry `index`, or NULL when that entry is another kind of name.
static inline const ASN1_IA5STRING *proxym_general_name_dns(const GENERAL_NAMES *names, int index) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
    return name != NULL && name->type == GEN_DNS ? name->d.dNSName : NULL;
}
static inline void proxym_general_names_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }

// A passphrase callback that supplies none: an encrypted key fails to load instead of prompting on a
// terminal (haproxy cannot prompt either: it reads keys at start, unattended).
static inline int proxym_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return 0;
}
static inline pem_password_cb *proxym_no_passphrase_callback(void) { return proxym_no_passphrase; }

#endif
