using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Virtual machines made by <c>streamboot vm create</c> (golden images are
/// installed in them; diskless ones are clients of this server). Runtime
/// state (the QEMU process, its sockets) lives in the VM's folder, not here:
/// it belongs to the machine the VM runs on.
/// </summary>
[Migration(6, "Virtual machines")]
public sealed class M0006_VirtualMachines : Migration
{
    public override void Up()
    {
        Create.Table("vms")
            .WithColumn("id").AsInt64().PrimaryKey("pk_vms").Identity()
            .WithColumn("name").AsString(64).NotNullable()
            .WithColumn("folder").AsString(4096).NotNullable()
            .WithColumn("uuid").AsGuid().NotNullable().Unique("ux_vms_uuid")
            .WithColumn("guest_os").AsString(16).NotNullable()
            .WithColumn("guest_os_version").AsString(64).Nullable()
            .WithColumn("machine_type").AsString(64).NotNullable()
            .WithColumn("firmware").AsString(16).NotNullable()
            .WithColumn("sockets").AsInt32().NotNullable()
            .WithColumn("cores_per_socket").AsInt32().NotNullable()
            .WithColumn("memory_mib").AsInt32().NotNullable()
            .WithColumn("disk_file").AsString(4096).Nullable()
            .WithColumn("disk_format").AsString(16).Nullable()
            .WithColumn("disk_size_bytes").AsInt64().Nullable()
            .WithColumn("disk_preallocated").AsBoolean().NotNullable()
            .WithColumn("installer_iso").AsString(4096).Nullable()
            .WithColumn("seed_file").AsString(4096).Nullable()
            .WithColumn("user_name").AsString(64).Nullable()
            .WithColumn("full_name").AsString(255).Nullable()
            .WithColumn("host_name").AsString(63).Nullable()
            .WithColumn("network").AsString(16).NotNullable()
            .WithColumn("bridge").AsString(15).Nullable()
            .WithColumn("mac").AsString(17).NotNullable().Unique("ux_vms_mac")
            .WithColumn("device_id").AsInt64().Nullable()
                .ForeignKey("fk_vms_device", "devices", "id").OnDelete(System.Data.Rule.SetNull)
            .WithColumn("created_at").AsCustom("timestamptz").NotNullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_vms_name ON vms (lower(name))");
    }

    public override void Down()
    {
        Delete.Table("vms");
    }
}
