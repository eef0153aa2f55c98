// FHIR XML through libxml2, hardened: no network, no DTD (so no external entities and no entity
// expansion bombs), a depth limit, errors captured instead of printed.
#include "fhirxml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *data;
    size_t length;
    size_t capacity;
    int failed;
} buffer;

static void put(buffer *b, const void *p, size_t n) {
    if (b->failed) return;
    if (b->length + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 4096;
        while (cap < b->length + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) { b->failed = 1; return; }
        b->data = d;
        b->capacity = cap;
    }
    memcpy(b->data + b->length, p, n);
    b->length += n;
}

static void put_u8(buffer *b, uint8_t v) { put(b, &v, 1); }

static void put_u32(buffer *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, le, 4);
}

static void put_str(buffer *b, const xmlChar *s) {
    size_t n = s ? strlen((const char *)s) : 0;
    put_u32(b, (uint32_t)n);
    if (n) put(b, s, n);
}

static void put_bytes(buffer *b, const xmlChar *s, size_t n) {
    put_u32(b, (uint32_t)n);
    if (n) put(b, s, n);
}

static const char *XHTML_NS = "http://www.w3.org/1999/xhtml";

static int only_space(const xmlChar *s) {
    if (!s) return 1;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return 0;
    return 1;
}

static void fail(osteoct_xml_result *r, int kind, int line, const char *message) {
    r->failure = kind;
    r->line = line;
    strncpy(r->message, message, sizeof r->message - 1);
    r->message[sizeof r->message - 1] = 0;
}

static int walk(xmlDocPtr doc, xmlNodePtr node, int depth, int max_depth, buffer *b, osteoct_xml_result *r) {
    if (depth > max_depth) {
        fail(r, 3, (int)xmlGetLineNo(node), "XML nested deeper than the depth limit; no FHIR resource needs that");
        return -1;
    }
    const xmlChar *ns = node->ns ? node->ns->href : NULL;
    if (ns && strcmp((const char *)ns, XHTML_NS) == 0) {
        // Narrative: keep the XHTML as markup text.
        xmlBufferPtr xb = xmlBufferCreate();
        if (!xb) { fail(r, 4, 0, "out of memory"); return -1; }
        xmlNodeDump(xb, doc, node, 0, 0);
        put_u8(b, 'X');
        put_u32(b, (uint32_t)xmlGetLineNo(node));
        put_str(b, node->name);
        put_str(b, ns);
        put_bytes(b, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
        xmlBufferFree(xb);
        return 0;
    }
    put_u8(b, 'S');
    put_u32(b, (uint32_t)xmlGetLineNo(node));
    put_str(b, node->name);
    put_str(b, ns);
    uint32_t count = 0;
    for (xmlAttrPtr a = node->properties; a; a = a->next) count++;
    put_u32(b, count);
    for (xmlAttrPtr a = node->properties; a; a = a->next) {
        put_str(b, a->name);
        put_str(b, a->ns ? a->ns->href : NULL);
        xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
        put_str(b, v ? v : (const xmlChar *)"");
        if (v) xmlFree(v);
    }
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            if (walk(doc, c, depth + 1, max_depth, b, r) != 0) return -1;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (!only_space(c->content)) {
                put_u8(b, 'T');
                put_u32(b, (uint32_t)xmlGetLineNo(c));
                put_str(b, c->content);
            }
        } else if (c->type == XML_ENTITY_REF_NODE) {
            fail(r, 2, (int)xmlGetLineNo(c), "entity references are not allowed in FHIR XML");
            return -1;
        }
    }
    put_u8(b, 'E');
    return 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_library(void) { xmlInitParser(); }

/// Finds `needle` in the raw bytes (DOCTYPE must be refused before libxml2 sees it).
static int contains(const uint8_t *bytes, size_t length, const char *needle) {
    size_t n = strlen(needle);
    if (length < n) return 0;
    for (size_t i = 0; i + n <= length; i++)
        if (bytes[i] == (uint8_t)needle[0] && memcmp(bytes + i, needle, n) == 0) return 1;
    return 0;
}

int osteoct_xml_parse(const uint8_t *bytes, size_t length, int max_depth, osteoct_xml_result *r) {
    memset(r, 0, sizeof *r);
    pthread_once(&init_once, init_library);
    if (contains(bytes, length, "<!DOCTYPE") || contains(bytes, length, "<!ENTITY")) {
        fail(r, 2, 0, "the document has a DTD (<!DOCTYPE or <!ENTITY); FHIR XML never needs one and it is refused to rule out external-entity and entity-expansion attacks");
        return -1;
    }
    if (length > (size_t)0x7fffffff) {
        fail(r, 3, 0, "document larger than 2 GiB");
        return -1;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) { fail(r, 4, 0, "out of memory"); return -1; }
    // NONET: never fetch anything. No NOENT / DTDLOAD / HUGE: entities stay unexpanded and libxml2's
    // own limits stay on. NOERROR/NOWARNING: errors come back in the result, not on stderr.
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, (const char *)bytes, (int)length, "fhir.xml", NULL, options);
    if (!doc) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        char message[480];
        snprintf(message, sizeof message, "XML syntax error: %s", e && e->message ? e->message : "unreadable XML");
        size_t n = strlen(message);
        while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' ')) message[--n] = 0;
        fail(r, 1, e ? e->line : 0, message);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    if (doc->intSubset || doc->extSubset) {
        fail(r, 2, 0, "the document has a DTD; refused");
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    buffer b = {0};
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = -1;
    if (!root) {
        fail(r, 1, 0, "the document has no root element");
    } else if (walk(doc, root, 1, max_depth, &b, r) == 0) {
        if (b.failed) {
            fail(r, 4, 0, "out of memory");
        } else {
            r->records = b.data;
            r->length = b.length;
            b.data = NULL;
            rc = 0;
        }
    }
    free(b.data);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

void osteoct_xml_free(osteoct_xml_result *r) {
    free(r->records);
    r->records = NULL;
    r->length = 0;
}
