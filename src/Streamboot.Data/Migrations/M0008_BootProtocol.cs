using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// A vDisk and a collection choose how their devices boot: nbd, http or
/// iscsi (kebab-case text, null for "as the vDisk says" and "nbd").
/// </summary>
[Migration(8, "Boot protocol per vDisk and collection")]
public sealed class M0008_BootProtocol : Migration
{
    public override void Up()
    {
        Alter.Table("vdisks").AddColumn("boot_protocol").AsString(16).Nullable();
        Alter.Table("collections").AddColumn("boot_protocol").AsString(16).Nullable();
    }

    public override void Down()
    {
        Delete.Column("boot_protocol").FromTable("vdisks");
        Delete.Column("boot_protocol").FromTable("collections");
    }
}
