// Small helpers to read an element tree the way FHIRPath reads a resource: children by name,
// choice elements by prefix, primitive values as text or numbers.

extension FHIRElement {
    /// Children called `name`.
    public func all(_ name: String) -> [FHIRElement] { children.filter { $0.name == name } }

    /// The first child called `name`.
    public func first(_ name: String) -> FHIRElement? { children.first { $0.name == name } }

    /// The value of the first child called `name`.
    public func text(_ name: String) -> String? { first(name)?.value }

    /// Elements along a dotted path of child names (`code.coding.system`).
    public func at(_ path: String) -> [FHIRElement] {
        var nodes = [self]
        for step in path.split(separator: ".") {
            let s = String(step)
            nodes = nodes.flatMap { $0.all(s) }
        }
        return nodes
    }

    /// The variant of choice element `base` (`value` → `valueQuantity`): its type suffix and element.
    public func choice(_ base: String) -> (type: String, element: FHIRElement)? {
        for c in children where c.name.count > base.count && c.name.hasPrefix(base) {
            let rest = c.name.dropFirst(base.count)
            if let f = rest.first, f.isUppercase { return (String(rest), c) }
        }
        return nil
    }

    /// A number from the value (decimals and integers).
    public var number: Double? { value.flatMap(Double.init) }

    /// The resource inside a wrapper element (Bundle.entry.resource, contained).
    public var wrappedResource: FHIRElement? {
        children.count == 1 && children[0].isResource ? children[0] : (isResource ? self : nil)
    }

    /// Codings of a CodeableConcept as (system, code) pairs.
    public var codings: [(system: String?, code: String?)] {
        all("coding").map { ($0.text("system"), $0.text("code")) }
    }
}
