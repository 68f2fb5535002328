using Streamboot.Vms.Qemu;

namespace Streamboot.Vms.Tests.Qemu;

public sealed class QemuSystemTests
{
    [Fact]
    public async Task Machine_types_are_the_pcs_this_qemu_offers_aliases_first()
    {
        var types = await QemuSystem.MachineTypesAsync();
        Assert.Equal(["q35", "pc"], types.Take(2));
        Assert.Contains(types, t => t.StartsWith("pc-q35-", StringComparison.Ordinal));
        Assert.Contains(types, t => t.StartsWith("pc-i440fx-", StringComparison.Ordinal));
        Assert.DoesNotContain("microvm", types);
        Assert.DoesNotContain("none", types);
        Assert.DoesNotContain("isapc", types);
    }

    [Fact]
    public void Parsing_takes_names_not_descriptions()
    {
        var help = """
            Supported machines are:
            microvm              microvm (i386)
            pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
            pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
            pc-i440fx-2.0        Standard PC (i440FX + PIIX, 1996)
            q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
            pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
            none                 empty machine
            """;
        Assert.Equal(["q35", "pc", "pc-q35-7.2", "pc-i440fx-7.2", "pc-i440fx-2.0"], QemuSystem.ParseMachineTypes(help));
        Assert.True(QemuSystem.IsQ35("pc-q35-7.2"));
        Assert.False(QemuSystem.IsQ35("pc-i440fx-7.2"));
    }
}
