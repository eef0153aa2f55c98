import Testing

@testable import FHIR

// The two wire formats at the element-tree level (no typed model): each format's rules from R4
// json.html / xml.html, and the same content written both ways reads to the same tree.

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The tree without writer hints and locations, for comparing what two formats carry.
private func logical(_ e: FHIRElement) -> FHIRElement {
    var c = FHIRElement(name: e.name, value: e.value, kind: nil, children: e.children.map(logical))
    c.isAttribute = false
    return c
}

@Suite("FHIR JSON and XML wire formats")
struct WireFormatTests {
    // R4 json.html §"JSON representation of primitive elements": a repeating primitive with an
    // extension on its second item; and xml.html's equivalent.
    let json = """
        {"resourceType":"Patient","id":"example","text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">Bob <b>Smith</b></div>"},\
        "name":[{"use":"official","family":"Smith","given":["Bob",null,"Jim"],"_given":[null,{"id":"314159","extension":[{"url":"http://example.org/fhir/StructureDefinition/text","valueString":"Easter Egg"}]},null]}],\
        "birthDate":"1970-03-30","_birthDate":{"extension":[{"url":"http://example.org/x","valueDecimal":0.630}]},"deceasedBoolean":false,"multipleBirthInteger":2}
        """
    let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Patient xmlns="http://hl7.org/fhir">
          <id value="example"/>
          <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">Bob <b>Smith</b></div></text>
          <name>
            <use value="official"/>
            <family value="Smith"/>
            <given value="Bob"/>
            <given id="314159">
              <extension url="http://example.org/fhir/StructureDefinition/text"><valueString value="Easter Egg"/></extension>
            </given>
            <given value="Jim"/>
          </name>
          <birthDate value="1970-03-30"><extension url="http://example.org/x"><valueDecimal value="0.630"/></extension></birthDate>
          <deceasedBoolean value="false"/>
          <multipleBirthInteger value="2"/>
        </Patient>
        """

    @Test func jsonMapsPrimitiveExtensionsAndNulls() throws {
        let doc = try FHIRJSONReader.parse(bytes(json))
        #expect(doc.issues.isEmpty)
        let root = doc.root
        #expect(root.name == "Patient" && root.isResource)
        let name = try #require(root.children.first { $0.name == "name" })
        let given = name.children.filter { $0.name == "given" }
        #expect(given.map(\.value) == ["Bob", nil, "Jim"])
        #expect(given[1].children.map(\.name) == ["id", "extension"])
        #expect(given[1].children[0].value == "314159")
        // The decimal keeps its written digits.
        let birth = try #require(root.children.first { $0.name == "birthDate" })
        let dec = birth.children[0].children.first { $0.name == "valueDecimal" }
        #expect(dec?.value == "0.630" && dec?.kind == .number)
    }

    @Test func jsonAndXMLCarryTheSameContent() throws {
        let a = try FHIRJSONReader.parse(bytes(json))
        let b = try FHIRXMLReader.parse(bytes(xml))
        #expect(b.issues.isEmpty, "\(b.issues)")
        #expect(logical(a.root) == logical(b.root))
    }

    @Test func jsonRoundTripIsByteExact() throws {
        let doc = try FHIRJSONReader.parse(bytes(json))
        let out = FHIRJSONWriter.write(doc.root)
        #expect(String(decoding: out, as: UTF8.self) == json)
    }

    @Test func xmlWriterOutputReadsBack() throws {
        let doc = try FHIRXMLReader.parse(bytes(xml))
        for pretty in [false, true] {
            let out = FHIRXMLWriter.write(doc.root, pretty: pretty)
            let again = try FHIRXMLReader.parse(out)
            #expect(again.issues.isEmpty)
            #expect(logical(again.root) == logical(doc.root))
        }
        let text = String(decoding: FHIRXMLWriter.write(doc.root), as: UTF8.self)
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Patient xmlns=\"http://hl7.org/fhir\"><id value=\"example\"/>"))
        #expect(text.contains("<given id=\"314159\"><extension url=\"http://example.org/fhir/StructureDefinition/text\"><valueString value=\"Easter Egg\"/></extension></given>"))
    }

    @Test func attributeEscapingSurvives() throws {
        let j = #"{"resourceType":"Basic","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"code":{"text":"a<b & \"c\"\n\ttab é 😀"}}"#
        let doc = try FHIRJSONReader.parse(bytes(j))
        let xmlOut = FHIRXMLWriter.write(doc.root)
        let back = try FHIRXMLReader.parse(xmlOut)
        #expect(logical(back.root) == logical(doc.root))
        #expect(String(decoding: FHIRJSONWriter.write(doc.root), as: UTF8.self) == j)
    }

    @Test func jsonFormRulesAreReported() throws {
        let cases: [(String, String)] = [
            (#"{"resourceType":"Patient","name":[]}"#, "empty array"),
            (#"{"resourceType":"Patient","name":{}}"#, "empty object"),
            (#"{"resourceType":"Patient","gender":null}"#, "null is not allowed"),
            (#"{"resourceType":"Patient","gender":""}"#, "empty string"),
            (#"{"resourceType":"Patient","given":["a"],"_given":[null,null]}"#, "must align"),
            (#"{"resourceType":"Patient","given":["a",null]}"#, "ele-1"),
        ]
        for (text, expected) in cases {
            let doc = try FHIRJSONReader.parse(bytes(text))
            #expect(doc.issues.contains { $0.diagnostics.contains(expected) && $0.severity == .error }, "\(text): \(doc.issues)")
        }
    }

    @Test func jsonSyntaxErrorsSayWhere() {
        let cases: [(String, String)] = [
            ("{\"resourceType\":\"Patient\",\n  \"id\": 01}", "line 2"),
            (#"{"resourceType":"Patient","id":"a\x"}"#, "invalid escape"),
            (#"{"resourceType":"Patient","id":"a"} x"#, "after the end"),
            (#"{"resourceType":"Patient","id":"a","id":"b"}"#, "appears twice"),
            (#"{"resourceType":"Patient","id":"\ud800"}"#, "surrogate"),
            (#"["Patient"]"#, "resourceType"),
        ]
        for (text, expected) in cases {
            do {
                let doc = try FHIRJSONReader.parse(bytes(text))
                #expect(doc.issues.contains { $0.diagnostics.contains(expected) }, "\(text): \(doc.issues)")
            } catch {
                #expect(error.description.contains(expected), "\(text): \(error)")
            }
        }
    }

    @Test func unicodeEscapesDecode() throws {
        let doc = try FHIRJSONReader.parse(bytes(#"{"resourceType":"Basic","id":"a","x":"\u00e9\ud83d\ude00\n"}"#))
        #expect(doc.root.children[1].value == "é😀\n")
    }

    @Test func hostileJSONIsRefused() {
        let deep = #"{"resourceType":"Basic","x":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(throws: FHIRError.self) { try FHIRJSONReader.parse(bytes(deep)) }
        do {
            _ = try FHIRJSONReader.parse(bytes(deep))
        } catch {
            #expect(error.issues.first?.code == "too-costly")
        }
        let big = bytes(#"{"resourceType":"Basic","id":"a"}"#)
        do {
            _ = try FHIRJSONReader.parse(big, limits: FHIRParseLimits(maxBytes: 10))
            Issue.record("size limit not enforced")
        } catch {
            #expect(error.issues.first?.code == "too-costly")
        }
    }

    @Test func hostileXMLIsRefused() {
        // Billion laughs (entity expansion) and XXE (external entity): both need a DTD, refused.
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <Patient xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Patient>
            """
        let xxe = """
            <?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>
            """
        for text in [laughs, xxe] {
            do {
                _ = try FHIRXMLReader.parse(bytes(text))
                Issue.record("DTD accepted")
            } catch {
                #expect(error.issues.first?.code == "security")
            }
        }
        let deep = "<Basic xmlns=\"http://hl7.org/fhir\">" + String(repeating: "<a>", count: 150) + String(repeating: "</a>", count: 150) + "</Basic>"
        do {
            _ = try FHIRXMLReader.parse(bytes(deep))
            Issue.record("depth not limited")
        } catch {
            #expect(error.issues.first?.code == "too-costly")
        }
    }

    @Test func xmlFormRulesAreReported() throws {
        let cases: [(String, String)] = [
            (#"<Patient xmlns="http://hl7.org/fhir"><gender value=""/></Patient>"#, "is empty"),
            (#"<Patient xmlns="http://hl7.org/fhir"><gender>female</gender></Patient>"#, "value attributes"),
            (#"<Patient xmlns="http://example.org"><gender value="female"/></Patient>"#, "namespace"),
            (#"<Patient xmlns="http://hl7.org/fhir"><name/></Patient>"#, "ele-1"),
        ]
        for (text, expected) in cases {
            let doc = try FHIRXMLReader.parse(bytes(text))
            #expect(doc.issues.contains { $0.diagnostics.contains(expected) }, "\(text): \(doc.issues)")
        }
        do {
            _ = try FHIRXMLReader.parse(bytes("<Patient xmlns=\"http://hl7.org/fhir\">\n<id value=\"a\">\n</Patient>"))
            Issue.record("malformed XML accepted")
        } catch {
            #expect(error.issues.first?.diagnostics.contains("line 3") == true, "\(error)")
        }
    }

    @Test func formatDetection() {
        #expect(FHIRFormat.detect(bytes("  {\"a\":1}")) == .json)
        #expect(FHIRFormat.detect([0xEF, 0xBB, 0xBF] + bytes("<x/>")) == .xml)
        #expect(FHIRFormat.detect(bytes("hello")) == nil)
    }
}
