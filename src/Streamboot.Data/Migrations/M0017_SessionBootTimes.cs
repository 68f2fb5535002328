using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// How long a session's boot took. A boot records when its OS connected
/// its root (the client boot component's NBD connection), beside when its
/// script was issued and when its key first opened the disk. The boot's row
/// holds them only until the device's next boot starts; the session keeps
/// copies, so ended sessions still say how long their boot took. Null for
/// sessions made before this migration.
/// </summary>
[Migration(17, "Boots' root connected; sessions keep their boot's times")]
public sealed class M0017_SessionBootTimes : Migration
{
    public override void Up()
    {
        Alter.Table("boots").AddColumn("root_connected_at").AsCustom("timestamptz").Nullable();
        Alter.Table("sessions")
            .AddColumn("boot_issued_at").AsCustom("timestamptz").Nullable()
            .AddColumn("boot_started_at").AsCustom("timestamptz").Nullable()
            .AddColumn("boot_root_connected_at").AsCustom("timestamptz").Nullable();
    }

    public override void Down()
    {
        Delete.Column("root_connected_at").FromTable("boots");
        Delete.Column("boot_issued_at").FromTable("sessions");
        Delete.Column("boot_started_at").FromTable("sessions");
        Delete.Column("boot_root_connected_at").FromTable("sessions");
    }
}
