using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// A VM's disk controller (virtio-blk, virtio-scsi, SATA, NVMe, IDE), and
/// whether its disk is an existing image or physical disk attached where it
/// is (left alone by <c>vm delete</c>). Rows made before keep a null bus:
/// the guest family's default, as they were started until now.
/// </summary>
[Migration(18, "VM disk controller and attached disks")]
public sealed class M0018_VmDisks : Migration
{
    public override void Up()
    {
        Alter.Table("vms")
            .AddColumn("disk_bus").AsString(16).Nullable()
            .AddColumn("disk_attached").AsBoolean().NotNullable().WithDefaultValue(false);
    }

    public override void Down()
    {
        Delete.Column("disk_bus").FromTable("vms");
        Delete.Column("disk_attached").FromTable("vms");
    }
}
