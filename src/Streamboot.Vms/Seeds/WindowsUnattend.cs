using System.Text;
using System.Xml;

namespace Streamboot.Vms.Seeds;

/// <summary>
/// An answer file for Windows Setup, <c>autounattend.xml</c> (Microsoft's
/// "Unattended Windows Setup Reference"): Setup looks for it at the root of
/// every removable drive and CD, so it goes on a small ISO of its own. It
/// names the computer and the registered owner and creates the first local
/// administrator. Windows has no hashed form for that password: the file
/// carries it the way Windows System Image Manager writes it (base64 of
/// UTF-16LE password + "Password", PlainText false), which hides it from a
/// glance, not from a reader. The seed file is therefore readable by its
/// owner only.
/// </summary>
public static class WindowsUnattend
{
    public const string VolumeId = "AUTOUNATTEND";
    private const string Ns = "urn:schemas-microsoft-com:unattend";
    private const string Wcm = "http://schemas.microsoft.com/WMIConfig/2002/State";

    public static IReadOnlyList<(string Name, byte[] Content)> Files(EasyInstall install) =>
        [("autounattend.xml", Xml(install))];

    internal static byte[] Xml(EasyInstall install)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var buffer = new MemoryStream();
        using (var xml = XmlWriter.Create(buffer, settings))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("unattend", Ns);

            // windowsPE: pass the EULA, give the product key and pick the
            // edition (an image of install.wim by its /IMAGE/NAME) when they
            // were given; the admin still picks the disk.
            xml.WriteStartElement("settings", Ns);
            xml.WriteAttributeString("pass", "windowsPE");
            Component(xml, "Microsoft-Windows-Setup");
            xml.WriteStartElement("UserData", Ns);
            xml.WriteElementString("AcceptEula", Ns, "true");
            xml.WriteElementString("FullName", Ns, install.FullName);
            if (install.ProductKey is { } key)
            {
                xml.WriteStartElement("ProductKey", Ns);
                xml.WriteElementString("Key", Ns, key);
                xml.WriteElementString("WillShowUI", Ns, "OnError");
                xml.WriteEndElement();
            }

            xml.WriteEndElement();
            if (install.Edition is { } edition)
            {
                xml.WriteStartElement("ImageInstall", Ns);
                xml.WriteStartElement("OSImage", Ns);
                xml.WriteStartElement("InstallFrom", Ns);
                xml.WriteStartElement("MetaData", Ns);
                xml.WriteAttributeString("wcm", "action", Wcm, "add");
                xml.WriteElementString("Key", Ns, "/IMAGE/NAME");
                xml.WriteElementString("Value", Ns, edition);
                xml.WriteEndElement();
                xml.WriteEndElement();
                xml.WriteEndElement();
                xml.WriteEndElement();
            }

            xml.WriteEndElement();
            xml.WriteEndElement();

            xml.WriteStartElement("settings", Ns);
            xml.WriteAttributeString("pass", "specialize");
            Component(xml, "Microsoft-Windows-Shell-Setup");
            xml.WriteElementString("ComputerName", Ns, install.HostName);
            xml.WriteElementString("RegisteredOwner", Ns, install.FullName);
            xml.WriteEndElement();
            xml.WriteEndElement();

            xml.WriteStartElement("settings", Ns);
            xml.WriteAttributeString("pass", "oobeSystem");
            Component(xml, "Microsoft-Windows-Shell-Setup");
            xml.WriteStartElement("OOBE", Ns);
            xml.WriteElementString("HideEULAPage", Ns, "true");
            xml.WriteElementString("HideOnlineAccountScreens", Ns, "true");
            xml.WriteElementString("ProtectYourPC", Ns, "3");
            xml.WriteEndElement();
            xml.WriteStartElement("UserAccounts", Ns);
            xml.WriteStartElement("LocalAccounts", Ns);
            xml.WriteStartElement("LocalAccount", Ns);
            xml.WriteAttributeString("wcm", "action", Wcm, "add");
            xml.WriteStartElement("Password", Ns);
            xml.WriteElementString("Value", Ns, Convert.ToBase64String(Encoding.Unicode.GetBytes(install.Password + "Password")));
            xml.WriteElementString("PlainText", Ns, "false");
            xml.WriteEndElement();
            xml.WriteElementString("Name", Ns, install.UserName);
            xml.WriteElementString("DisplayName", Ns, install.FullName);
            xml.WriteElementString("Group", Ns, "Administrators");
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteElementString("RegisteredOwner", Ns, install.FullName);
            xml.WriteEndElement();
            xml.WriteEndElement();

            xml.WriteEndElement();
            xml.WriteEndDocument();
        }

        return buffer.ToArray();
    }

    private static void Component(XmlWriter xml, string name)
    {
        xml.WriteStartElement("component", Ns);
        xml.WriteAttributeString("name", name);
        xml.WriteAttributeString("processorArchitecture", "amd64");
        xml.WriteAttributeString("publicKeyToken", "31bf3856ad364e35");
        xml.WriteAttributeString("language", "neutral");
        xml.WriteAttributeString("versionScope", "nonSxS");
        xml.WriteAttributeString("xmlns", "wcm", null, Wcm);
    }
}
