// Network namespaces, veth pairs and the clients these tests run exist on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
