// OsteoCT's narrow interface to libxml2 for FHIR XML: parse a document into a flat list of records
// that the Swift side turns into its element tree. Declares only our own types, so Swift never
// sees libxml2's headers (and their ICU).
#ifndef OSTEOCT_FHIRXML_H
#define OSTEOCT_FHIRXML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Records in the output buffer (each string is a little-endian uint32 length + UTF-8 bytes):
///  'S' line:u32 name:str namespace:str count:u32 (attrName:str attrNamespace:str value:str)*  element start
///  'X' line:u32 name:str namespace:str markup:str   an XHTML element, serialised whole (narrative div)
///  'T' line:u32 text:str                             non-whitespace text inside a FHIR element
///  'E'                                               element end
/// Comments and processing instructions are skipped.
typedef struct {
    uint8_t *records;
    size_t length;
    /// On failure: what went wrong (NUL-terminated) and where (1-based line, 0 if unknown).
    char message[512];
    int line;
    /// 1 = syntax, 2 = forbidden construct (DTD, entity), 3 = limit exceeded, 4 = out of memory.
    int failure;
} osteoct_xml_result;

/// Parses `length` bytes of XML. No network, no DTDs, no entity expansion beyond the five
/// predefined ones; nesting deeper than `max_depth` fails. Returns 0 on success (the caller
/// frees `result->records` with `osteoct_xml_free`), nonzero on failure with `result->message`.
int osteoct_xml_parse(const uint8_t *bytes, size_t length, int max_depth, osteoct_xml_result *result);

void osteoct_xml_free(osteoct_xml_result *result);

#ifdef __cplusplus
}
#endif

#endif
