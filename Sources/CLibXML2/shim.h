// libxml2 for the CFHIRXML shim only. Swift code must not import this module: libxml2's headers
// pull in the system ICU, which clashes with Foundation's (DESIGN.md, "System C libraries").
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
