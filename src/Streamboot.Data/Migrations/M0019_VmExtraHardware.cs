using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// A VM's customized hardware (more disks and network cards, sound, USB,
/// display, serial ports) as one JSON document: QEMU's view of it is built
/// from the whole, nothing queries a part. Null for VMs made before: the
/// hardware they always had (xHCI and a tablet, standard VGA, one serial port).
/// </summary>
[Migration(19, "VM customized hardware")]
public sealed class M0019_VmExtraHardware : Migration
{
    public override void Up()
    {
        Alter.Table("vms").AddColumn("hardware").AsString(16384).Nullable();
    }

    public override void Down()
    {
        Delete.Column("hardware").FromTable("vms");
    }
}
